"""``python -m hwsim.cli``: the same as the ``hwsim`` console script."""

from hwsim.cli import run

if __name__ == "__main__":
    run()
