"""`python -m mirrorinstall` runs the `minstall` command."""

from mirrorinstall.cli import main

if __name__ == "__main__":
    main()
