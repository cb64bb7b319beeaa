"""Every user-facing string, in one place so wording stays consistent."""

from __future__ import annotations

NOT_FOUND = "Not found in the corpus."
CLOSEST_HEADER = "Closest matches (these do not answer the question):"
EMPTY_QUESTION = "Please ask a question, e.g. /ask Who passed the ordinance?"
QUESTION_TRUNCATED = "Your question was cut to its first {limit} characters."
GENERIC_ERROR = "Sorry, something went wrong while answering. The error has been logged."
COOLDOWN = "You're asking quickly; please try again in {seconds:.0f} s."
NO_CONTEXT = "That passage is no longer in the index."
FEEDBACK_THANKS = "Thanks for the feedback!"
FEEDBACK_UNKNOWN = "That answer is too old to rate."
SHARED = "Shared in the channel."

HELP = (
    "I answer questions about the documents in my corpus by quoting the passages "
    "that answer them, each cited to its document and paragraph. I never make up "
    "text: every quote is copied verbatim from a source.\n"
    "Commands:\n"
    "  /ask <question>  ask a question, e.g. /ask How did the council vote?\n"
    "  /sources         list the documents I quote from\n"
    "  /help            show this message\n"
    "When the documents do not answer, I say so and show the closest passages, "
    "marked as such."
)

CONFIDENCE = "Confidence: {label}"
