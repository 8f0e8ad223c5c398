"""The one exception type whose message is meant for the user, as is."""


class CnnkitError(Exception):
    """A problem the user can fix; its message says what happened and what to do.

    The CLI prints it as one line and exits non-zero; the pages show it with ``st.error``.
    """
