"""Quartz cron expressions, evaluated in UTC: when does a rollup job's schedule fire next?

Elasticsearch schedules rollup jobs with its own Quartz-compatible `Cron` class (x-pack core
scheduler/Cron.java, "Cron expressions ... in the Quartz format"), always in UTC:
https://www.elastic.co/guide/en/elasticsearch/reference/7.17/rollup-put-job.html (`cron`) and
https://www.quartz-scheduler.org/documentation/quartz-2.3.0/tutorials/crontrigger.html (the syntax):

    seconds minutes hours day-of-month month day-of-week [year]

`*` every value, `?` no specific value (day-of-month / day-of-week), `a,b` lists, `a-b` ranges,
`x/n` steps (x may be `*`), month names JAN-DEC, day names SUN-SAT (1 = SUN ... 7 = SAT),
day-of-month `L` (last day), `L-n`, `nW` (nearest weekday), `LW`; day-of-week `nL` (last such day of
the month) and `n#k` (k-th such day of the month). Exactly one of day-of-month / day-of-week must be `?`.
"""

import calendar
import datetime

_MONTHS = {name: i for i, name in enumerate(
    ('JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'), 1)}
_DAYS = {name: i for i, name in enumerate(('SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'), 1)}
# (low, high, names) per field; the year field spans what Quartz accepts.
_FIELDS = ((0, 59, None), (0, 59, None), (0, 23, None), (1, 31, None), (1, 12, _MONTHS), (1, 7, _DAYS), (1970, 2199, None))
_SEARCH_YEARS = 10  # a schedule with no fire time within this many years never fires (e.g. 30 FEB)


class CronError(ValueError):
    pass


def _number(text, names):
    text = text.upper()
    if names and text in names:
        return names[text]
    if not text.isdigit():
        raise CronError('invalid value [%s]' % text)
    return int(text)


def _values(field, low, high, names):
    """A plain field (no L/W/#) as a set of integers."""
    out = set()
    for part in field.split(','):
        step, stepped = 1, '/' in part
        if stepped:
            part, step_text = part.split('/', 1)
            step = _number(step_text, None)
            if step <= 0:
                raise CronError('invalid step [%s]' % step_text)
        if part in ('*', '?'):
            start, end = low, high
        elif '-' in part:
            first, last = part.split('-', 1)
            start, end = _number(first, names), _number(last, names)
        else:
            start = _number(part, names)
            end = high if stepped else start
        if not (low <= start <= high and low <= end <= high):
            raise CronError('value out of range in [%s]' % field)
        if start <= end:
            out.update(range(start, end + 1, step))
        else:  # Quartz ranges wrap (e.g. FRI-MON, 22-2)
            span = list(range(start, high + 1)) + list(range(low, end + 1))
            out.update(span[::step])
    return out


class Cron:
    """A parsed expression; next_fire(after) gives the first fire time strictly after a UTC datetime."""

    def __init__(self, expression):
        fields = expression.split()
        if len(fields) not in (6, 7):
            raise CronError('a cron expression has 6 or 7 fields: [%s]' % expression)
        self.expression = expression
        self.seconds = _values(fields[0], *_FIELDS[0])
        self.minutes = _values(fields[1], *_FIELDS[1])
        self.hours = _values(fields[2], *_FIELDS[2])
        self.months = _values(fields[4], *_FIELDS[4])
        self.years = _values(fields[6], *_FIELDS[6]) if len(fields) == 7 else None
        dom, dow = fields[3].upper(), fields[5].upper()
        if (dom == '?') == (dow == '?'):
            raise CronError('exactly one of day-of-month and day-of-week must be [?]: [%s]' % expression)
        self.day_matcher = self._dom_matcher(dom) if dow == '?' else self._dow_matcher(dow)

    @staticmethod
    def _dom_matcher(field):
        if field == 'L':
            return lambda d: d.day == _last_day(d)
        if field.startswith('L-'):
            offset = int(field[2:])
            return lambda d: d.day == _last_day(d) - offset
        if field == 'LW':
            return lambda d: d.day == _nearest_weekday(d, _last_day(d))
        if field.endswith('W'):
            target = int(field[:-1])
            return lambda d: d.day == _nearest_weekday(d, target)
        days = _values(field, *_FIELDS[3])
        return lambda d: d.day in days

    @staticmethod
    def _dow_matcher(field):
        if '#' in field:
            day_text, nth = field.split('#', 1)
            day, nth = _number(day_text, _DAYS), int(nth)
            return lambda d: _quartz_dow(d) == day and (d.day - 1) // 7 + 1 == nth
        if field.endswith('L') and field != 'L':
            day = _number(field[:-1], _DAYS)
            return lambda d: _quartz_dow(d) == day and d.day + 7 > _last_day(d)
        if field == 'L':
            return lambda d: _quartz_dow(d) == 7
        days = _values(field, *_FIELDS[5])
        return lambda d: _quartz_dow(d) in days

    def next_fire(self, after):
        """First fire time > `after` (a naive UTC datetime), or None."""
        start = after.replace(microsecond=0) + datetime.timedelta(seconds=1)
        day = start.date()
        limit = day.replace(year=min(day.year + _SEARCH_YEARS, 9999))
        while day <= limit:
            if ((self.years is None or day.year in self.years) and day.month in self.months and self.day_matcher(day)):
                found = self._first_time_on(day, start)
                if found is not None:
                    return found
            day += datetime.timedelta(days=1)
        return None

    def _first_time_on(self, day, start):
        floor = (start.hour, start.minute, start.second) if day == start.date() else (0, 0, 0)
        for hour in sorted(h for h in self.hours if h >= floor[0]):
            for minute in sorted(m for m in self.minutes if (hour, m) >= floor[:2]):
                for second in sorted(self.seconds):
                    if (hour, minute, second) >= floor:
                        return datetime.datetime(day.year, day.month, day.day, hour, minute, second)
        return None


def _last_day(day):
    return calendar.monthrange(day.year, day.month)[1]


def _quartz_dow(day):
    return (day.isoweekday() % 7) + 1  # Monday=2 ... Saturday=7, Sunday=1


def _nearest_weekday(day, target):
    """Quartz `W`: the weekday nearest to the target day, never crossing into another month."""
    last = _last_day(day)
    target = min(target, last)
    base = day.replace(day=target)
    weekday = base.weekday()  # Monday=0
    if weekday == 5:
        return target - 1 if target > 1 else target + 2
    if weekday == 6:
        return target + 1 if target < last else target - 2
    return target


def next_fire_epoch(expression, after_epoch):
    """Epoch seconds of the next fire strictly after `after_epoch`, or None (never / unparsable)."""
    try:
        cron = Cron(expression)
    except (CronError, ValueError):
        return None
    after = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=after_epoch)
    found = cron.next_fire(after)
    if found is None:
        return None
    return (found - datetime.datetime(1970, 1, 1)).total_seconds()
