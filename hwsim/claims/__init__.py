"""What-if studies of published sparse-activation claims (``hwsim claims``).

A claim file (``configs/studies/claims/*.yaml``, schema :mod:`hwsim.config.claims`) states a
claim's figures as rules on hwsim metrics; :func:`hwsim.claims.run.run_claims` simulates every
scenario through :func:`hwsim.simulate` (nothing here computes a cost itself), turns the numbers
into verdicts by the rules of :mod:`hwsim.claims.verdict`, re-simulates one change at a time
to find what flips them (:mod:`hwsim.claims.sensitivity`) and reports JSON and HTML.
"""
