"""The hands: typed tool functions grouped by duty, the providers behind them, the foundation.

Importing the package loads nothing; :func:`tools.base.registry` imports every duty
module (``DUTY_MODULES``) the first time tools are asked for, so code that needs only the
foundation (settings, principals, storage) stays quick to import.
"""

DUTY_MODULES = (
    "tools.briefing", "tools.calendar", "tools.contacts", "tools.desk", "tools.duties",
    "tools.filing", "tools.invoices", "tools.mail", "tools.memory", "tools.press",
    "tools.travel", "tools.vendors",
)  # fmt: skip
