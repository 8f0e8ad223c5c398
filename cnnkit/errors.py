"""The exceptions whose message is meant for the user, as is."""

from .i18n import DEFAULT_LANGUAGE, text


class CnnkitError(Exception):
    """A problem the user can fix; its message says what happened and what to do.

    The CLI prints it as one line and exits non-zero; the pages show it with ``st.error``.
    """


class InputError(CnnkitError):
    """Input a learner typed that cannot be used. It carries an i18n key and its values, so that a page
    says it in the chosen language; ``str()`` gives the English text."""

    def __init__(self, key: str, **values):
        self.key, self.values = key, values
        super().__init__(text(key, DEFAULT_LANGUAGE, **values))
