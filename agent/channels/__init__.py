"""Front doors: terminal chat, Slack bot, e-mail autoresponder."""
