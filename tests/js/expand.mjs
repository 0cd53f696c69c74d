// Parse iCalendar feeds with ical.js and print every VEVENT's instants as JSON.
//
//   node expand.mjs FEED.ics [FEED.ics ...]
//
// Output: {"<file>": {"<UID>": {"start": "...", "end": "...", "allDay": bool, "summary": "..."}}}.
// Timed events: UTC instants ("2025-03-30T01:30:00Z"), after registering each feed's own
// VTIMEZONE with ICAL.TimezoneService (as Thunderbird and Nextcloud do). All-day events:
// their dates ("2025-03-14"). A parse error exits with status 1 and the message on stderr.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

function iso(time) {
  if (time.isDate) {
    return time.toString(); // YYYY-MM-DD
  }
  return new Date(time.toUnixTime() * 1000).toISOString().replace(".000Z", "Z");
}

const out = {};
for (const file of process.argv.slice(2)) {
  const calendar = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
  for (const zone of calendar.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(new ICAL.Timezone(zone));
  }
  const events = {};
  for (const component of calendar.getAllSubcomponents("vevent")) {
    const event = new ICAL.Event(component);
    if (event.startDate.zone === ICAL.Timezone.localTimezone && !event.startDate.isDate) {
      throw new Error(`${file}: ${event.uid} has a floating start (undeclared TZID?)`);
    }
    events[event.uid] = {
      start: iso(event.startDate),
      end: iso(event.endDate),
      allDay: event.startDate.isDate,
      summary: event.summary,
    };
  }
  out[file] = events;
}
process.stdout.write(JSON.stringify(out));
