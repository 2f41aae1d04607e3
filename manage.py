#!/usr/bin/env python
from clausier.cli import main

if __name__ == "__main__":
    main()
