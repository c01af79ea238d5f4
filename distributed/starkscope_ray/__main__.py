import sys

from starkscope_ray.cli import main

sys.exit(main())
