"""stepstream: long step-wise jobs over one resumable Server-Sent Events stream."""
