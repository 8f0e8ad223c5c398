"""Home: what is inside, the devices found, the versions."""
import streamlit as st

from cnnkit.system import system_report
from pages.ui import t

st.title(t("home.title"))
st.markdown(t("home.intro"))
for item in t("home.inside"):
    st.markdown(f"- {item}")

report = system_report()
st.subheader(t("home.devices"))
st.dataframe(
    [{t("home.device_id"): d.id, t("home.device_name"): d.name,
      t("home.device_memory"): f"{d.memory_gb:.1f} GB" if d.memory_gb else "—",
      t("home.device_cores"): d.cores or "—"} for d in report.devices],
    hide_index=True,
)
if len(report.devices) == 1:
    st.info(t("home.cpu_only"))
st.caption(t("home.versions", **report.versions))
