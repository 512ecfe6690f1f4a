"""hwsim design explorer from the checkout: ``streamlit run app.py`` (``make app`` uses ``hwsim
app``). The script itself ships in the package as hwsim/app/streamlit_app.py; this file only
delegates to the same entry point."""

from hwsim.app.main import main

main()
