"""The hands: typed tool functions grouped by duty.

Importing the package registers every duty's tools (see :func:`tools.base.registry`).
"""

import tools.calendar
import tools.contacts
import tools.desk
import tools.mail
import tools.memory  # noqa: F401
