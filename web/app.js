// chatroom's web client: replaced by the real client.
"use strict";
