"""The channel keeps no tables of its own: messages, with their send state (status, attempts,
last_error, provider_id, claimed_until, in_flight, retry_at, meta.part_ids), live in
conversations.Message."""
