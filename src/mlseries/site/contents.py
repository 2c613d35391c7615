"""What the site lists: the registered lessons grouped by the curriculum's chapters, tracks and labs.

Nothing here names a lesson: lessons come from the registry (`mlseries.course.lessons()`), the
chapters, the 7-day track and the labs from `course/catalog.py`. A chapter or lab without a
lesson yet is shown as "coming"; a lesson whose chapter the catalogue does not know still gets
a section of its own, so nothing registered is ever left out.
"""
from dataclasses import dataclass, field


@dataclass
class Group:
    """A chapter, a lab or a day of the track, with its lessons in curriculum order."""
    id: str
    title_zh: str
    title_en: str
    kind: str                                     # "chapter", "lab", "track" or "other"
    lessons: list = field(default_factory=list)   # registry Lessons
    missing: list = field(default_factory=list)   # lesson ids named (by a track) but not written


@dataclass
class Contents:
    lessons: list        # every lesson, curriculum order
    chapters: list       # [Group] in the catalogue's order, then unknown chapters
    labs: list           # [Group]
    tracks: list         # [Group]

    def groups(self):
        """Chapters then labs: the sidebar's sections."""
        return self.chapters + self.labs

    def group_of(self, lesson):
        return next((g for g in self.groups() if lesson in g.lessons), None)


def build_contents(lessons, chapters, tracks, labs=None):
    """`chapters`, `tracks`, `labs`: the catalogue's dicts id -> Chapter/Track (labs may be empty)."""
    lessons = list(lessons)
    labs = labs or {}
    by_group = {}
    for les in lessons:
        by_group.setdefault(les.chapter, []).append(les)

    def group(item, kind):
        return Group(item.id, item.title_zh, item.title_en, kind, by_group.get(item.id, []))

    chapter_groups = [group(c, "chapter") for c in chapters.values()]
    lab_groups = [group(lab, "lab") for lab in labs.values()]
    known = set(chapters) | set(labs)
    for key, members in by_group.items():     # a lesson outside the catalogue still gets a home
        if key not in known:
            chapter_groups.append(Group(key, key, key, "other", members))
    ids = {les.id: les for les in lessons}
    track_groups = [Group(t.id, t.title_zh, t.title_en, "track",
                          [ids[i] for i in t.lessons if i in ids],
                          [i for i in t.lessons if i not in ids]) for t in tracks.values()]
    return Contents(lessons, chapter_groups, lab_groups, track_groups)


def from_course():
    """The Contents of the installed course (imports every lesson module)."""
    from mlseries import course
    from mlseries.course import catalog

    return build_contents(course.lessons(), catalog.CHAPTERS, catalog.TRACKS,
                          getattr(catalog, "LABS", {}))
