"""The channel keeps no tables of its own yet: messages live in conversations.Message."""
