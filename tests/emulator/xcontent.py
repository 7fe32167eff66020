"""Strict body parsing like ES's ObjectParser: unknown fields are a 400 `x_content_parse_exception` whose reason
carries the Jackson token location `[line:column]` of the offending token in the raw request body.

ES source: libs/x-content ObjectParser.java (7.x+: "[<parser>] unknown field [<f>]" at the field name, with
SuggestingErrorOnUnknown's " did you mean ...?"; 6.8: "[<parser>] unknown field [<f>], parser not found" at the
value) and XContentParseException.getMessage ("[line:col] " prefix), on the 6.8/7.17/8.19/9.1 branches.
"""

from .errors import EsError


class ParseError(EsError):
    """XContentParseException is not an ElasticsearchException, so ES reports it as its own root cause
    (ElasticsearchException.guessRootCauses) however deep its `caused_by` chain goes."""

    def __init__(self, reason, caused_by=None):
        super().__init__(400, 'x_content_parse_exception', reason, caused_by=caused_by)

    def root(self):
        return self


def locations(raw):
    """{path tuple: ((name_line, name_col), (value_line, value_col))} for every object key in a JSON text."""
    text = raw.decode('utf-8', 'replace') if isinstance(raw, bytes) else (raw or '')
    found = {}
    pos = [0]

    def where(index):
        line = text.count('\n', 0, index) + 1
        return line, index - (text.rfind('\n', 0, index) + 1) + 1

    def skip():
        while pos[0] < len(text) and text[pos[0]] in ' \t\r\n':
            pos[0] += 1

    def string():
        i = pos[0] + 1
        out = []
        while i < len(text) and text[i] != '"':
            if text[i] == '\\':
                out.append(text[i:i + 2])
                i += 2
                continue
            out.append(text[i])
            i += 1
        pos[0] = i + 1
        return ''.join(out)

    def value(path):
        skip()
        if pos[0] >= len(text):
            return
        char = text[pos[0]]
        if char == '{':
            pos[0] += 1
            while True:
                skip()
                if pos[0] >= len(text) or text[pos[0]] == '}':
                    pos[0] += 1
                    return
                if text[pos[0]] == ',':
                    pos[0] += 1
                    continue
                name_at = pos[0]
                key = string()
                skip()
                pos[0] += 1  # ':'
                skip()
                found[path + (key,)] = (where(name_at), where(pos[0]))
                value(path + (key,))
        elif char == '[':
            pos[0] += 1
            index = 0
            while True:
                skip()
                if pos[0] >= len(text) or text[pos[0]] == ']':
                    pos[0] += 1
                    return
                if text[pos[0]] == ',':
                    pos[0] += 1
                    continue
                found[path + (index,)] = (where(pos[0]), where(pos[0]))
                value(path + (index,))
                index += 1
        elif char == '"':
            string()
        else:
            while pos[0] < len(text) and text[pos[0]] not in ',}] \t\r\n':
                pos[0] += 1

    try:
        value(())
    except IndexError:
        pass
    return found


def _prefix(req, path, at_value):
    entry = locations(getattr(req, 'raw', b'')).get(path)
    if entry is None:
        return ''
    line, col = entry[1] if at_value else entry[0]
    return '[%d:%d] ' % (line, col)


def _suggestion(name, known):
    from .server import _similarity  # pylint: disable=import-outside-toplevel
    close = sorted(k for k in known if _similarity(name, k) > 0.7)
    if not close:
        return ''
    if len(close) == 1:
        return ' did you mean [%s]?' % close[0]
    return ' did you mean any of [%s]?' % ', '.join(close)


def check_fields(req, obj, parser_name, known, path=()):
    """Raise ES's error for the first key of `obj` (at `path` in the body) that `known` lacks."""
    pers = req.pers
    for key in obj:
        if key in known:
            continue
        if pers.unknown_field_at_value:
            reason = '[%s] unknown field [%s], parser not found' % (parser_name, key)
        else:
            reason = '[%s] unknown field [%s]' % (parser_name, key)
            if pers.unknown_field_suggestions:
                reason += _suggestion(key, known)
        raise ParseError(_prefix(req, path + (key,), pers.unknown_field_at_value) + reason)


def wrong_type(req, parser_name, field, path, token):
    """ObjectParser: a declared field whose value token its ValueType does not accept (reported at the value)."""
    return ParseError(_prefix(req, path, True) + "[%s] %s doesn't support values of type: %s" % (parser_name, field, token))


def failed_to_parse(req, parser_name, field, path, cause):
    """ObjectParser.parseValue's wrapper around an error inside a field's value."""
    return ParseError(_prefix(req, path, False) + '[%s] failed to parse field [%s]' % (parser_name, field), caused_by=cause)


def failed_to_build(req, parser_name, path, cause):
    """ConstructingObjectParser: the constructor threw once every required argument had arrived."""
    return ParseError(_prefix(req, path, False) + 'failed to build [%s] after last required field arrived' % parser_name,
                      caused_by=cause)
