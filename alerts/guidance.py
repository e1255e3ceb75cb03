"""What the school's social media policy says to do, per concern.

These defaults follow a typical English school's social media and online safety policy
(Bentilee Nursery School's among them). A school replaces any of them under
``alerts.guidance`` in its config, keyed by concern name.
"""

from __future__ import annotations

DEFAULT_GUIDANCE: dict[str, str] = {
    "threat": "If anyone may be in immediate danger, call 999. Tell the headteacher and the Designated "
              "Safeguarding Lead now, report the post to the platform and to the police, and record it on "
              "the Online Incident Record with screenshots.",
    "safeguarding": "Refer it to the Designated Safeguarding Lead today and follow the child protection "
                    "policy. Do not reply publicly or investigate yourself. Record it on the Online Incident "
                    "Record with screenshots.",
    "extremism": "Tell the PREVENT lead (normally the Designated Safeguarding Lead) today and follow the "
                 "PREVENT duty guidance; they decide on a Channel referral or the police. Report the post to "
                 "the platform.",
    "offensive": "Ask the person who posted it to remove it and invite them to discuss their concern with "
                 "the school. If it stays up, report it to the platform. Record it on the Online Incident "
                 "Record with screenshots.",
    "hate": "Report it to the platform as hateful content and record it as a hate incident; consider "
            "reporting it to the police. Tell the headteacher.",
    "allegation": "Do not respond publicly. Tell the headteacher; an allegation against a member of staff "
                  "goes to the Local Authority Designated Officer (LADO). Consider legal advice on defamation "
                  "before asking for removal.",
    "personal_data": "Ask the poster and the platform to remove the personal details at once and tell the "
                     "Data Protection Officer: it may be a data breach to log within 72 hours.",
    "complaint": "Invite the person to raise it through the school's complaints procedure rather than on "
                 "social media. Do not debate it in public.",
    "press": "Follow the media policy: staff do not comment to journalists; pass the enquiry to the "
             "headteacher (or the local authority's press office) the same day.",
}
GENERAL = ("Read it and decide whether it needs a response. If it is an incident, record it on the "
           "Online Incident Record with screenshots.")


def guidance_for(concerns: list[str], overrides: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """(concern, what to do) for each concern; the general advice when there is none."""
    table = {**DEFAULT_GUIDANCE, **overrides}
    found = tuple((c, table[c]) for c in concerns if c in table)
    return found or (("general", overrides.get("general", GENERAL)),)
