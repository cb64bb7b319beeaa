"""Questions about the seed article, ``corpus/denver-ordinance.md``, for the speed benchmarks."""

from __future__ import annotations

DENVER_QUESTIONS = (
    "What did the Denver City Council pass?",
    "What was the vote count on the ordinance?",
    "Who offered the Denver Public Safety Enforcement Priorities Act?",
    "What happened after the vote?",
    "Will Denver honor ICE detainer requests?",
    "Can ICE agents interview people in jail without a warrant?",
    "What did Mayor Michael Hancock say?",
    "Which department must notify ICE of pending releases?",
    "What will inmates be told?",
    "How did ICE describe the ordinance?",
    "Who is Denver's Field Operation Director?",
    "What did Jeffrey Lynch say about the policy?",
    "Who wrote a letter to President Trump?",
    "What did state Rep. Dave Williams ask for?",
    "Could Denver lose federal funding?",
    "What guidelines did Jeff Sessions announce in July?",
    "How much money would Denver lose each year?",
    "Which grants are at risk?",
    "Would Denver sue the federal government?",
    "Are police allowed to ask about immigration status?",
)
