"""The peer for bench_sms: what a person following Twilio's own SMS quickstart deploys.

A Flask app with one route, ``POST /sms``, that answers with ``MessagingResponse`` as a string,
served by gunicorn with 2 sync workers::

    gunicorn -w 2 -b 127.0.0.1:8000 bench.peer_flask:app      (run from the repository root)

Like the quickstart it checks no signature, stores nothing and remembers nobody: the reply is
a plain keyword lookup in a dict, else a short menu. It is the floor of "answer an SMS with
TwiML in Python", not a product; our server does far more per request (see bench_sms).
"""

from __future__ import annotations

from flask import Flask, request
from twilio.twiml.messaging_response import MessagingResponse

app = Flask(__name__)

MENU = "Dhanote IT Park. Text JOBS, TRAINING, PARK, STARTUP or HELP. Reply STOP to stop."

REPLIES = {
    "jobs": "Jobs at Dhanote IT Park: see the notice board or text TRAINING for courses.",
    "naukri": "Jobs at Dhanote IT Park: see the notice board or text TRAINING for courses.",
    "training": "Free courses: DigiSkills, NAVTTC and park bootcamps. Text PARK for the address.",
    "courses": "Free courses: DigiSkills, NAVTTC and park bootcamps. Text PARK for the address.",
    "park": "Dhanote IT Park, South Punjab. Open Mon-Sat 09:00-17:00.",
    "startup": "Startups: desks, mentors and seed grants. Text GRANTS for more.",
    "grants": "Seed grants open twice a year; watch for our announcement.",
    "help": "Dhanote IT Park helpline. Text JOBS, TRAINING, PARK or STARTUP.",
    "stop": "You are unsubscribed. Text START to join again.",
}


@app.route("/sms", methods=["POST"])
def sms_reply() -> str:
    """Reply to an incoming SMS with a keyword answer, as in Twilio's quickstart."""
    body = request.values.get("Body", "").strip().lower()
    resp = MessagingResponse()
    resp.message(REPLIES.get(body, MENU))
    return str(resp)
