"""The design explorer's Streamlit script, shipped in the package: ``hwsim app`` runs it.

Streamlit executes this file from the top on every interaction, so it calls :func:`main` at
module level rather than behind ``if __name__ == "__main__"``.
"""

from hwsim.app.main import main

main()
