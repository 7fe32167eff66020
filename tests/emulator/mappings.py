"""Index mappings: the create-index body per version, GET views, and the field capabilities that
datafeed start and rollup PUT look fields up with. Mappings are stored untyped (what 7.x+ shows);
6.x shows them under the `_doc` type.
"""

from .errors import EsError
from .state import flat_settings, simple_match

# RestCreateIndexAction (6.7/6.8): both warnings are written by 6.x nodes on PUT <index> (seen from elasticsearch-py
# as ElasticsearchWarning, e.g. oceanprotocol/aquarius logs); 7.0 changed both defaults.
TYPES_6X_WARNING = ("[types removal] The parameter include_type_name should be explicitly specified in create index "
                    "requests to prepare for 7.0. In 7.0 include_type_name will default to 'false', and requests are "
                    "expected to omit the type name in mapping definitions.")
SHARDS_6X_WARNING = ("the default number of shards will change from [5] to [1] in 7.0.0; if you wish to continue using "
                     "the default of [5] shards, you must manage this on the create index request or with an index template")
# RestCreateIndexAction.TYPES_DEPRECATION_MESSAGE (7.x; 8.x only for compatible-with=7 requests).
TYPES_7X_WARNING = ("[types removal] Using include_type_name in create index requests is deprecated. "
                    "The parameter will be removed in the next major version.")
SINGLE_MAPPING_NAME = '_doc'
# Field types whose doc values make them aggregatable by default (text is not, unless fielddata is on).
_NOT_AGGREGATABLE = {'text', 'object', 'nested', 'binary'}


def java_string(value):
    """How Java's Map/List toString prints a parsed JSON value (used in mapper error messages)."""
    if isinstance(value, dict):
        return '{' + ', '.join('%s=%s' % (k, java_string(v)) for k, v in value.items()) + '}'
    if isinstance(value, list):
        return '[' + ', '.join(java_string(v) for v in value) + ']'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def _unsupported_root(type_name, remaining):
    # DocumentMapperParser.checkNoRemainingFields: each leftover entry is " [key : value]" (hence the two spaces),
    # wrapped by MapperService.merge as "Failed to parse mapping [<type>]: ..." (6.8/7.x/8.x/9.x).
    detail = 'Root mapping definition has unsupported parameters: ' + ''.join(
        ' [%s : %s]' % (k, java_string(v)) for k, v in remaining.items())
    return EsError(400, 'mapper_parsing_exception', 'Failed to parse mapping [%s]: %s' % (type_name, detail),
                   caused_by=EsError(400, 'mapper_parsing_exception', detail))


# Keys a root (type-level) mapping may hold; anything else is "unsupported parameters".
_ROOT_KEYS = {'properties', '_meta', 'dynamic', 'dynamic_templates', '_source', '_routing', 'enabled', 'runtime',
              'date_detection', 'numeric_detection', 'dynamic_date_formats', '_field_names', '_size', 'subobjects',
              '_all', '_data_stream_timestamp'}


def _check_root(type_name, mapping):
    if not isinstance(mapping, dict):
        raise EsError(400, 'mapper_parsing_exception', 'Failed to parse mapping [%s]: expected a map' % type_name)
    remaining = {k: v for k, v in mapping.items() if k not in _ROOT_KEYS}
    if remaining:
        raise _unsupported_root(type_name, remaining)
    return dict(mapping)


def parse_create_body(req, body):
    """(type name, stored untyped mapping) of a PUT <index> body, with the version's rules for mapping types."""
    pers = req.pers
    mappings = body.get('mappings')
    include_param = req.params.get('include_type_name')
    if pers.mapping_types_by_default:
        # 6.8 RestCreateIndexAction: include_type_name defaults to true, so `mappings` is keyed by type name.
        if include_param is None:
            req.warn(TYPES_6X_WARNING)
        if not {'number_of_shards', 'index.number_of_shards'} & set(flat_settings(body.get('settings') or {})):
            req.warn(SHARDS_6X_WARNING)
        typed = include_param is None or include_param in ('', 'true')
    elif pers.mapping_types_param:
        # RestCreateIndexAction.prepareMappingsV7: the param is read and warned about; only `true` allows a type.
        if include_param is not None:
            req.warn(TYPES_7X_WARNING)
        typed = include_param in ('', 'true')
    else:
        typed = False
    if not mappings:
        return SINGLE_MAPPING_NAME, {}
    if not isinstance(mappings, dict):
        raise EsError(400, 'mapper_parsing_exception', 'Failed to parse mapping: mappings must be an object')
    if typed:
        if len(mappings) > 1:
            # 6.x: one type per index (MapperService "Rejecting mapping update ... more than 1 type").
            raise EsError(400, 'illegal_argument_exception', 'Rejecting mapping update to [%s] as the final mapping would have '
                          'more than 1 type: %s' % (req.path_params['index'], java_string(sorted(mappings))))
        type_name, inner = next(iter(mappings.items()))
        # 7.x with include_type_name=true replaces any type name with _doc (prepareMappingsV7); 6.x keeps it.
        return (type_name if pers.mapping_types_by_default else SINGLE_MAPPING_NAME), _check_root(type_name, inner or {})
    if len(mappings) == 1 and SINGLE_MAPPING_NAME in mappings:
        # RestCreateIndexAction.prepareMappings (7.x, 8.x, 9.x: MapperService.isMappingSourceTyped).
        raise EsError(400, 'illegal_argument_exception', 'The mapping definition cannot be nested under a type [_doc] '
                      'unless include_type_name is set to true.')
    return SINGLE_MAPPING_NAME, _check_root(SINGLE_MAPPING_NAME, mappings)


def view(req, index):
    """A stored mapping as GET <index> / GET <index>/_mapping show it: under `_doc` on 6.x (include_type_name
    defaults to true there) or on 7.x with include_type_name=true."""
    include_param = req.params.get('include_type_name')
    pers = req.pers
    typed = pers.mapping_types_param and (include_param in ('', 'true') or (include_param is None and pers.mapping_types_by_default))
    mapping = index['mappings']
    if typed:
        return {index.get('type', SINGLE_MAPPING_NAME): mapping} if mapping else {}
    return mapping


def field_types(mapping):
    """{dotted field name: mapping type} for a stored mapping (objects, sub-objects and multi-fields)."""
    out = {}

    def walk(properties, prefix):
        for name, spec in (properties or {}).items():
            if not isinstance(spec, dict):
                continue
            path = prefix + name
            if 'properties' in spec and 'type' not in spec:
                out[path] = 'object'
                walk(spec['properties'], path + '.')
                continue
            out[path] = spec.get('type', 'object')
            if spec.get('type') in ('object', 'nested'):
                walk(spec.get('properties'), path + '.')
            for sub, sub_spec in (spec.get('fields') or {}).items():
                if isinstance(sub_spec, dict):
                    out[path + '.' + sub] = sub_spec.get('type', 'object')

    walk(mapping.get('properties'), '')
    return out


def resolve(cluster, expression):
    """Concrete index names of a comma-separated index expression (wildcards; a `-` item excludes)."""
    names = []
    for item in [p.strip() for p in expression.split(',') if p.strip()] if isinstance(expression, str) else expression:
        if item.startswith('-') and names:
            names = [n for n in names if not simple_match(item[1:], n)]
        elif '*' in item:
            names.extend(n for n in sorted(cluster.indices) if simple_match(item, n) and n not in names)
        elif item in cluster.indices and item not in names:
            names.append(item)
    return names


def field_caps(cluster, indices):
    """FieldCapabilitiesResponse.get(): {field: {type: aggregatable}} over the given concrete indices."""
    caps = {}
    for name in indices:
        for field, ftype in field_types(cluster.indices[name]['mappings']).items():
            if ftype in ('object', 'nested'):
                continue
            entry = caps.setdefault(field, {})
            entry[ftype] = entry.get(ftype, True) and ftype not in _NOT_AGGREGATABLE
    return caps
