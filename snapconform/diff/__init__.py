"""``snapconform diff``: the same generated requests to two servers, every difference reported.

``stream`` builds the requests, ``observe`` compares two answers, ``engine`` drives both targets
and confirms differences that may be churn, ``report`` writes diff.json, Allure and the terminal
summary, ``cli`` is the command.
"""
