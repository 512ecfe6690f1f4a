"""The Streamlit design explorer (``hwsim app`` serves streamlit_app.py, which wires it up).

Thin by design (DESIGN.md §2): widgets, calls into hwsim's public API and charts; every number
on a page comes from ``hwsim.simulate`` (or the study API) through :mod:`hwsim.app.compute`.
One file per page; :mod:`hwsim.app.main` registers them with ``st.navigation``.
"""
