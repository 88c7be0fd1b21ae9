"""axe-core in the browser tests: tests/browser/support/axe.min.js (axe-core 4.14.1 from npm,
MPL-2.0, its licence beside it) is read from disk, never fetched.

The pages' Content-Security-Policy allows scripts from our own origin only, so a <script> tag
with the file's text (Playwright's add_script_tag) would be refused. page.evaluate runs the
text through the DevTools protocol instead, which the policy does not govern; production's
policy stays as it is."""

from pathlib import Path

AXE_SOURCE = (Path(__file__).parent / "support" / "axe.min.js").read_text()
# The WCAG 2.0/2.1 A and AA rules, plus axe's best practices (landmarks, headings).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": " + n.failureSummary),
  }));
}"""


def axe_violations(page) -> list[dict]:
    """Every axe violation on the page as it is now (all impacts)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate(RUN_AXE, AXE_TAGS)


def serious_violations(page) -> list[dict]:
    """The serious and critical ones: the browser tests allow none on a portal page."""
    return [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
