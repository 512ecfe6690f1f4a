"""hwsim design explorer: ``streamlit run app.py`` (or ``make app``). Pages live in hwsim/app/."""

from hwsim.app.main import main

main()
