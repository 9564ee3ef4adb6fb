"""Receiving the Import form's pasted text as an uploaded file.

Django keeps form fields in memory and refuses a request whose fields add up to more than
DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB, for the whole site: it guards every form, the login page's
too). A paste of IMPORT_MAX_IDS ids is larger. Read as a file instead, it goes through the
upload handlers (memory up to FILE_UPLOAD_MAX_MEMORY_SIZE, then a temporary file) and is parsed
in chunks like any upload; every other field keeps Django's limit.
"""

from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParser

PASTED_FILE_NAME = "pasted.txt"


class PasteAsFileHandler(FileUploadHandler):
    """Parses a multipart body with the part of field ``field_name`` read as a file named
    PASTED_FILE_NAME (in request.FILES, under the same name), by the request's other handlers."""

    def __init__(self, request: HttpRequest, field_name: str) -> None:
        super().__init__(request)
        self.field_name = field_name

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        others = [handler for handler in self.request.upload_handlers if handler is not self]
        body = _FieldAsFile(input_data, boundary=boundary, field_name=self.field_name)
        return MultiPartParser(META, body, others, encoding).parse()


class _FieldAsFile:
    """A multipart body in which the part header of one field also names a file: Django's parser
    decides "file or field" from that header alone. The boundary cannot occur inside any part, so
    only that header matches."""

    def __init__(self, stream, *, boundary: bytes, field_name: str) -> None:
        self._stream = stream
        self._header = b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n' % (boundary, field_name.encode())
        self._as_file = self._header[:-2] + b'; filename="%s"\r\n' % PASTED_FILE_NAME.encode()
        self._held = b""  # the end of the last read, which may hold the start of the header

    def read(self, size: int = -1) -> bytes:
        while True:
            data = self._stream.read(size)
            if not data:
                rest, self._held = self._held, b""
                return rest
            text = (self._held + data).replace(self._header, self._as_file)
            keep = len(self._header) - 1
            text, self._held = text[:-keep], text[-keep:]
            if text:
                return text
