"""The channel keeps no tables of its own: messages (with their send state: status, attempts,
last_error, provider_id, meta.claimed_until/retry_at/part_ids) live in conversations.Message."""
