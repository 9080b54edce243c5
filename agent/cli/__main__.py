"""``python -m agent.cli``: the same as the ``secretary`` command."""

from agent.cli import main

if __name__ == "__main__":
    main()
