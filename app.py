"""cnnkit — the CNN studio. Run with ``streamlit run app.py``."""

import streamlit as st

from cnnkit.preload import preload
from pages.ui import app_navigation, language_switch, owner, t

app_navigation()  # out of Streamlit's legacy mode for a `pages/` folder, before any widget

st.set_page_config(page_title="cnnkit — CNN studio", page_icon="🧠", layout="wide")
language_switch()
owner()  # the user's token in the URL on every page, so that a reload finds their runs

# The default page is served at "/" whatever its url_path (which only names it); "/home", which links and
# bookmarks use, opens the same page through a hidden twin instead of "Page not found".
PAGES = [
    st.Page("pages/home.py", title=t("nav.home"), icon="🏠", default=True, url_path="start"),
    st.Page("pages/home.py", title=t("nav.home"), icon="🏠", url_path="home", visibility="hidden"),
    st.Page("pages/guide.py", title=t("nav.guide"), icon="🏛️", url_path="guide"),
    st.Page("pages/train.py", title=t("nav.train"), icon="🏋️", url_path="train"),
    st.Page("pages/draw.py", title=t("nav.draw"), icon="✏️", url_path="draw"),
]
st.navigation(PAGES).run()
preload()  # torch, torchvision and the guide's first card, in the background now that a page is drawn
