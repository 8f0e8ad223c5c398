"""The one error the user sees: a message key and its values, said in the user's language."""

from cnnkit.i18n import DEFAULT_LANGUAGE, text


class CnnkitError(Exception):
    """A problem the user can fix. It carries a message key (``section.key`` of ``locales/<lang>/``) and its
    values: a page shows ``message(lang)`` in the chosen language, the CLI prints ``str()`` (English) as one
    line and exits non-zero. The message says what happened and what to do.
    """

    def __init__(self, key: str, /, **values):
        self.key, self.values = key, values
        super().__init__(key)

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str:
        if " " in self.key:  # TRANSITIONAL: an English sentence not yet moved to the locale files
            return self.key
        return text(self.key, lang, **self.values)

    def __str__(self) -> str:
        return self.message()
