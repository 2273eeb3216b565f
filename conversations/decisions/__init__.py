"""What the receptionist decides, by subject: each module takes the turn (its typed state, the
unit, now) and what was understood, says what it has to say and changes the state.

- `qualify`: the family's facts into the lead, and the next question to ask;
- `booking`: slots offered, chosen, booked; a wish outside the rules explained;
- `visits`: the family's existing visit (when is it, move it, cancel it);
- `answers`: questions to the unit's knowledge; unknown ones go to the team, the bot carries on;
- `handoff`: a person takes over (asked for, complaint) and the notices while the family waits;
- `reminders`: replies to the reminder and no-show messages;
- `talk`: greetings, small talk, thanks, opt-out, what to say when nothing else applies.
"""
