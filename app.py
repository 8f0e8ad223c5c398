"""cnnkit — the CNN studio. Run with ``streamlit run app.py``."""
import streamlit as st

from pages.ui import language_switch, t

st.set_page_config(page_title="cnnkit — CNN studio", page_icon="🧠", layout="wide")
language_switch()

PAGES = [
    st.Page("pages/home.py", title=t("nav.home"), icon="🏠", default=True, url_path="home"),
]
st.navigation(PAGES).run()
