"""Alerts to the data team: channels from Connections (:mod:`.channels`), firing/resolved state that
suppresses repeats and announces recoveries (:mod:`.book`), and the rules that look at a finished run
(:mod:`.rules`)."""
