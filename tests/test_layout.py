"""Guards on the project's layout that a test run would not otherwise notice."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_pages_directory_next_to_the_entry_point() -> None:
    """A `pages/` folder beside streamlit_app.py switches on Streamlit's automatic navigation for a
    browser's first request, so a deep link (/calendar, /campaign?id=3) to a freshly started server
    rendered a blank page. The pages live in app_pages/ and st.navigation lists them."""
    assert not (ROOT / "pages").exists()
    assert (ROOT / "app_pages" / "campaigns.py").exists()


def test_core_never_imports_streamlit() -> None:
    offenders = [p.name for p in (ROOT / "core").rglob("*.py") if "import streamlit" in p.read_text()]
    assert offenders == []
