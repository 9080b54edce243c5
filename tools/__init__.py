"""The hands: typed tool functions grouped by duty.

Importing the package registers every duty's tools (see :func:`tools.base.registry`).
"""

import tools.briefing
import tools.calendar
import tools.contacts
import tools.desk
import tools.duties
import tools.filing
import tools.invoices
import tools.mail
import tools.memory
import tools.press
import tools.travel
import tools.vendors  # noqa: F401
