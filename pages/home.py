"""Home: what is inside, the guide's networks at a glance, the devices found, the versions."""

import streamlit as st

from cnnkit.devices import device_name
from cnnkit.guide.comparison import shipped_rows
from cnnkit.guide.comparison_charts import params_by_year
from cnnkit.system import system_report
from pages.ui import fmt, lang, markdown_table, num, on_chart_select, page_navigation, t

OPEN_GUIDE = "home_open_guide"


def glance() -> None:
    """The guide's networks by year and size, from the shipped figures (no torch); a click opens a card."""
    rows = tuple(r for r in shipped_rows() or () if r.year)  # the notes' ConvNet has no paper, no year
    if not rows:
        return
    st.subheader(t("home.glance", count=len(rows)))
    st.plotly_chart(params_by_year(rows, lang()), key="home_glance", on_select=open_guide, selection_mode="points")
    st.caption(t("home.glance_click"))


def open_guide() -> None:
    if on_chart_select("home_glance"):
        st.session_state[OPEN_GUIDE] = True


page_navigation()  # a first request of the server to this page's URL: see pages/ui.py

st.title(t("home.title"))
st.markdown(t("home.intro"))
for item in t("home.inside"):
    st.markdown(f"- {item}")
glance()
if st.session_state.pop(OPEN_GUIDE, False):
    st.switch_page("pages/guide.py")

report = system_report()
st.subheader(t("home.devices"))
markdown_table(
    [
        {
            t("home.device_id"): device_name(d.id, lang()),
            t("home.device_name"): d.name,
            t("home.device_memory"): fmt().unit(d.memory_gb, "gb", 1) if d.memory_gb else "—",
            t("home.device_cores"): num(d.cores) if d.cores else "—",
        }
        for d in report.devices
    ]
)
if len(report.devices) == 1:
    st.info(t("home.cpu_only"))
st.caption(t("home.versions", **report.versions))
