"""CourseYamlLoader: a course folder whose `course.yaml` lists modules and lesson files."""

from pathlib import Path
from typing import Any

from assistant.types import SourceType
from ingest.documents import LoadError, ParsedDocument
from ingest.loaders import LoadContext, read_text
from ingest.loaders.markdown import markdown_sections
from ingest.metadata import normalize, parse_yaml_mapping, split_front_matter

MANIFEST_NAME = "course.yaml"


class CourseYamlLoader:
    """Each lesson is a document; its chunks carry Course > Module > Lesson and the lesson URL."""

    source_type = SourceType.COURSE.value

    def load(self, path: Path, context: LoadContext) -> list[ParsedDocument]:
        manifest = path / MANIFEST_NAME
        if not manifest.resolve().is_relative_to(path.resolve()):
            raise LoadError(f"{MANIFEST_NAME} points outside the course folder (a symlink?)")
        course = parse_yaml_mapping(read_text(manifest), where=str(manifest))
        meta = normalize(course, default_audience=context.default_audience, where=MANIFEST_NAME)
        meta.setdefault("title", path.name.replace("-", " ").title())
        meta.setdefault("reviewed", True)
        modules = course.get("modules")
        if not isinstance(modules, list) or not modules:
            raise LoadError(f"{MANIFEST_NAME} lists no modules: add modules with lessons")
        documents = []
        for module_number, module in enumerate(modules, start=1):
            if not isinstance(module, dict):
                raise LoadError(
                    f"module {module_number} in {MANIFEST_NAME} is a {type(module).__name__}, "
                    "not a mapping: write it as `- title: …` with `lessons:`"
                )
            module_title = str(module.get("title") or f"Module {module_number}")
            lessons = module.get("lessons") or []
            if not isinstance(lessons, list):
                raise LoadError(
                    f"lessons of module {module_title!r} in {MANIFEST_NAME} must be a list"
                )
            for lesson in lessons:
                if not isinstance(lesson, dict):
                    raise LoadError(
                        f"a lesson of module {module_title!r} in {MANIFEST_NAME} is a "
                        f"{type(lesson).__name__}, not a mapping: write it as "
                        "`- file: lessons/…md` (and `title:`)"
                    )
                documents.append(self._lesson(path, context, course, meta, module_title, lesson))
        if not documents:
            raise LoadError(f"{MANIFEST_NAME} lists no lessons")
        return documents

    def _lesson(
        self,
        folder: Path,
        context: LoadContext,
        course: dict[str, Any],
        course_meta: dict[str, Any],
        module_title: str,
        lesson: dict[str, Any],
    ) -> ParsedDocument:
        file = (folder / str(lesson.get("file", ""))).resolve()
        if not file.is_relative_to(folder.resolve()) or not file.is_file():
            raise LoadError(f"lesson file {lesson.get('file')!r} is missing or outside the course")
        front, body = split_front_matter(read_text(file), where=file.name)
        url = lesson.get("url") or course_meta.get("url")
        h1, sections = markdown_sections(body, url=url)
        lesson_title = str(lesson.get("title") or h1 or file.stem)
        if not sections:
            raise LoadError(f"lesson {file.name} has no text")
        for section in sections:
            section.heading_path = [module_title, lesson_title, *section.heading_path]
            section.url = section.url or url
        # A lesson's own front matter may override the course's metadata (e.g. audience).
        meta = {
            **course_meta,
            **normalize(
                {**course, **front}, default_audience=context.default_audience, where=file.name
            ),
            "title": str(course_meta["title"]),
            "course": str(course_meta["title"]),
            "module": module_title,
            "lesson": lesson_title,
        }
        if url:
            meta["url"] = str(url)
        return context.document(
            file,
            source_type=self.source_type,
            metadata=meta,
            sections=sections,
            hashed=(folder / MANIFEST_NAME,),
        )
