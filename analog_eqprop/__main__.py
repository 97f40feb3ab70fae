import sys

from analog_eqprop.cli import main

sys.exit(main())
