"""Home: what is inside, the devices found, the versions."""

import streamlit as st

from cnnkit.devices import device_name
from cnnkit.system import system_report
from pages.ui import fmt, lang, markdown_table, num, page_navigation, t

page_navigation()  # a first request of the server to this page's URL: see pages/ui.py

st.title(t("home.title"))
st.markdown(t("home.intro"))
for item in t("home.inside"):
    st.markdown(f"- {item}")

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
