"""The stock contract's plain outcomes of a write: `{"success": true}` and `{"success": true, "message": …}`,
which the bodies naming what was written extend."""

from typing import Literal

from pydantic import BaseModel


class SuccessOut(BaseModel):
    success: Literal[True]


class SuccessMessageOut(SuccessOut):
    message: str
