"""Email bodies to agent-readable text: quoted history trimmed, HTML reduced to safe text."""

from __future__ import annotations

import pytest

from channels_app.providers.email.text import html_to_text, trim_quoted


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Gmail, attribution wrapped over two lines.
        (
            "Thanks, that works.\n\nOn Tue, 2 Jan 2024 at 10:00, Acme Support <support@acme.test>\n"
            "wrote:\n> Can you try again?\n",
            "Thanks, that works.",
        ),
        # Apple Mail / Thunderbird.
        ("Got it\n\nOn 2 Jan 2024, at 10:00, Acme wrote:\n\n> Hello\n", "Got it"),
        # Portuguese Gmail.
        ("Obrigada!\n\nEm ter., 2 de jan. de 2024 às 10:00, Acme escreveu:\n> Oi", "Obrigada!"),
        # Outlook desktop.
        (
            "Please call me.\r\n\r\n-----Original Message-----\r\nFrom: Acme\r\nSent: Monday\r\n",
            "Please call me.",
        ),
        # Outlook on the web: a rule, then the header block.
        (
            "See attached.\n\n________________________________\nFrom: Acme Support\n"
            "Sent: Monday, January 1, 2024 9:00 AM\nTo: Ana\nSubject: Order\n\nOld text",
            "See attached.",
        ),
        # Outlook header block without the rule.
        ("Yes\n\nFrom: Acme Support <s@acme.test>\nSent: Monday\nTo: Ana\n\nOld", "Yes"),
        # Quoted lines between the customer's own lines are dropped.
        ("> Which size?\nLarge, please.\n> Which colour?\nBlue.", "Large, please.\nBlue."),
        # A forward the customer chose to send is kept whole.
        (
            "FYI\n\n---------- Forwarded message ---------\nFrom: Bank <b@bank.test>\n"
            "Date: Mon, 1 Jan 2024\nSubject: Refund\n\nYour refund was issued.",
            "FYI\n\n---------- Forwarded message ---------\nFrom: Bank <b@bank.test>\n"
            "Date: Mon, 1 Jan 2024\nSubject: Refund\n\nYour refund was issued.",
        ),
        # Nothing but a quote: kept rather than lost.
        ("> only a quote", "> only a quote"),
        # "From:" in the customer's own words is no header block.
        (
            "From: London\nTo: Paris\nIs this route served?",
            "From: London\nTo: Paris\nIs this route served?",
        ),
    ],
)
def test_quoted_history_is_trimmed(body, expected):
    assert trim_quoted(body) == expected


def test_html_keeps_text_and_links_and_drops_code_and_markup():
    html = """<!DOCTYPE html><html><head><title>Mail</title>
    <style>.x{display:none}</style><script>steal()</script></head><body>
    <div>Hi&nbsp;there &lt;team&gt; &#8212; &eacute;t&eacute;</div>
    <p>Track <a href="https://t.example.com/1">your parcel</a> or write to
    <a href="mailto:help@acme.test">help@acme.test</a>.</p>
    <ul><li>one</li><li>two</li></ul>
    <pre>  code
  block</pre>
    <noscript><img src="https://pixel.test/x.gif"></noscript>
    <iframe src="https://evil.test"></iframe>
    </body></html>"""
    assert html_to_text(html) == (
        "Hi there <team> — été\n\n"
        "Track your parcel (https://t.example.com/1) or write to help@acme.test.\n\n"
        "- one\n- two\n\n"
        "  code\n  block"
    )


@pytest.mark.parametrize(
    "quote",
    [
        '<div class="gmail_quote"><div>On Mon, Acme wrote:</div><blockquote>old</blockquote></div>',
        '<blockquote type="cite"><div>old</div></blockquote>',
        '<div id="divRplyFwdMsg"><b>From:</b> Acme<br><b>Sent:</b> Monday<br>old</div>',
        '<div class="yahoo_quoted"><div>old</div></div>',
    ],
    ids=["gmail", "apple", "outlook", "yahoo"],
)
def test_html_quote_containers_are_dropped(quote):
    html = f"<html><body><div>New answer</div><br>{quote}<div>After</div></body></html>"
    assert html_to_text(html) == "New answer\n\nAfter"


def test_unclosed_and_nested_markup_never_leaks_tags():
    html = "<div><p>Hello <b>world<i> and <script>x<y</script>more</div><style>a{}"
    text = html_to_text(html)
    assert text == "Hello world and more"
