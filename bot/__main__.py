"""`python -m bot`: run the bot with long polling."""

import sys

from bot.main import main

sys.exit(main())
