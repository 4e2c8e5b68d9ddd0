"""A small, realistic corpus of all four kinds, written into a temporary folder by tests."""

import json
from pathlib import Path

KB_RESET = """---
title: Resetting your password
audience: public
url: https://help.example.com/articles/reset-password
updated_at: 2026-09-14
tags: [account]
---
# Resetting your password

If you forgot your password, you can set a new one from the sign-in page.

## Steps
1. Open the sign-in page and click Forgot password.
2. Enter the email address of your account and click Send reset link.
3. Open the email and click the link within 30 minutes.
4. Choose a new password of at least 12 characters.

## If the email does not arrive
Check your spam folder. Reset links expire after 30 minutes, so request a new one if it is late.
"""

KB_INVOICE = """---
title: Creating your first invoice
url: https://help.example.com/articles/first-invoice
---
# Creating your first invoice

Invoices are created from the Invoices page.

## Create the invoice
1. Go to Invoices and click New invoice.
2. Pick a customer, add line items and set the due date.
3. Click Send to email the invoice as a PDF.

## Currencies
Each invoice uses the customer's default currency. You can change it per invoice.
"""

KB_INTERNAL = """---
title: "Support runbook: refunds"
audience: internal
url: https://wiki.example.com/support/refunds
---
# Support runbook: refunds

Refunds above 500 dollars need approval from a team lead. Use the override code PELICAN-42 in
the back office only after approval. Never mention the override code to customers.
"""

VTT = """WEBVTT

1
00:00:01.000 --> 00:00:05.000
<v Maya Chen>Welcome everyone, today we talk about payment reminders.

2
00:00:05.500 --> 00:00:09.000
<v Maya Chen>Reminders are sent automatically when an invoice is overdue.

3
00:01:10.000 --> 00:01:15.000
<v Sam Ortiz>To turn on reminders, open Settings, then Reminders, and switch on Automatic reminders.
"""

VTT_META = """title: "Webinar: Getting paid faster"
url: https://video.example.com/w/getting-paid
updated_at: 2026-06-11
product_version: "4.1"
"""

TOPIC = {
    "id": 1482,
    "title": "Bank feed stopped syncing",
    "slug": "bank-feed-stopped-syncing",
    "accepted_answer": {"post_number": 2, "username": "staff_sam"},
    "post_stream": {
        "posts": [
            {
                "id": 1,
                "post_number": 1,
                "username": "tomas",
                "cooked": "<p>My bank feed stopped syncing after I changed my bank password.</p>",
                "like_count": 1,
            },
            {
                "id": 2,
                "post_number": 2,
                "username": "staff_sam",
                "cooked": "<p>Reconnect the bank:</p><ol><li>Open Settings &gt; Bank accounts."
                "</li><li>Click Reconnect next to the bank.</li></ol>",
                "like_count": 9,
                "accepted_answer": True,
            },
        ]
    },
}

COURSE_YAML = """title: Essentials
url: https://academy.example.com/courses/essentials
modules:
  - title: Getting started
    lessons:
      - title: Your company profile
        file: lessons/01-profile.md
        url: https://academy.example.com/courses/essentials/lessons/profile
      - title: Taxes
        file: lessons/02-taxes.md
        url: https://academy.example.com/courses/essentials/lessons/taxes
"""

LESSON_PROFILE = """# Your company profile

Upload your logo in Settings > Company > Branding. The logo appears on every invoice.
"""

LESSON_TAXES = """# Taxes

Add a tax rate in Settings > Taxes. Each line item can carry one tax rate.
"""


def write_corpus(root: Path) -> Path:
    """Writes the corpus under `root` and returns it."""
    (root / "kb").mkdir(parents=True)
    (root / "kb" / "reset-password.md").write_text(KB_RESET)
    (root / "kb" / "first-invoice.md").write_text(KB_INVOICE)
    (root / "kb" / "internal-refunds.md").write_text(KB_INTERNAL)
    (root / "transcripts").mkdir()
    (root / "transcripts" / "getting-paid.vtt").write_text(VTT)
    (root / "transcripts" / "getting-paid.vtt.meta.yaml").write_text(VTT_META)
    (root / "threads").mkdir()
    (root / "threads" / "bank-feed.json").write_text(json.dumps(TOPIC))
    (root / "threads" / "bank-feed.json.meta.yaml").write_text(
        "url: https://community.example.com\n"
    )
    course = root / "courses" / "essentials"
    (course / "lessons").mkdir(parents=True)
    (course / "course.yaml").write_text(COURSE_YAML)
    (course / "lessons" / "01-profile.md").write_text(LESSON_PROFILE)
    (course / "lessons" / "02-taxes.md").write_text(LESSON_TAXES)
    return root
