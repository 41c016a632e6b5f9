-- gammu-smsd SQL schema version 17 for PostgreSQL, as gammu-smsd 1.42 (driver
-- native_pgsql) reads and writes it. Column names, types, defaults and triggers
-- must stay as they are: gammu-smsd checks gammu."Version", quotes every
-- identifier (so they are mixed-case here), reads "Processed", "MultiPart",
-- "Send" and "Receive" as booleans and relies on the defaults, which are
-- LOCALTIMESTAMP(0): the server's time zone, not UTC.
-- plpgsql is built into every supported PostgreSQL; it is not created here.

CREATE OR REPLACE FUNCTION update_timestamp() RETURNS trigger AS $update_timestamp$
  BEGIN
    NEW."UpdatedInDB" := LOCALTIMESTAMP(0);
    RETURN NEW;
  END;
$update_timestamp$ LANGUAGE plpgsql;

CREATE TABLE gammu (
  "Version" smallint NOT NULL DEFAULT '0' PRIMARY KEY
);
INSERT INTO gammu ("Version") VALUES (17);

CREATE TABLE inbox (
  "UpdatedInDB" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "ReceivingDateTime" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "Text" text NOT NULL,
  "SenderNumber" varchar(20) NOT NULL DEFAULT '',
  "Coding" varchar(255) NOT NULL DEFAULT 'Default_No_Compression',
  "UDH" text NOT NULL,
  "SMSCNumber" varchar(20) NOT NULL DEFAULT '',
  "Class" integer NOT NULL DEFAULT '-1',
  "TextDecoded" text NOT NULL DEFAULT '',
  "ID" serial PRIMARY KEY,
  "RecipientID" text NOT NULL,
  "Processed" boolean NOT NULL DEFAULT 'false',
  "Status" integer NOT NULL DEFAULT '-1',
  CHECK ("Coding" IN ('Default_No_Compression', 'Unicode_No_Compression', '8bit',
                      'Default_Compression', 'Unicode_Compression'))
);
CREATE TRIGGER update_timestamp BEFORE UPDATE ON inbox
  FOR EACH ROW EXECUTE PROCEDURE update_timestamp();

CREATE TABLE outbox (
  "UpdatedInDB" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "InsertIntoDB" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "SendingDateTime" timestamp NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "SendBefore" time NOT NULL DEFAULT '23:59:59',
  "SendAfter" time NOT NULL DEFAULT '00:00:00',
  "Text" text,
  "DestinationNumber" varchar(20) NOT NULL DEFAULT '',
  "Coding" varchar(255) NOT NULL DEFAULT 'Default_No_Compression',
  "UDH" text,
  "Class" integer DEFAULT '-1',
  "TextDecoded" text NOT NULL DEFAULT '',
  "ID" serial PRIMARY KEY,
  "MultiPart" boolean NOT NULL DEFAULT 'false',
  "RelativeValidity" integer DEFAULT '-1',
  "SenderID" varchar(255),
  "SendingTimeOut" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "DeliveryReport" varchar(10) DEFAULT 'default',
  "CreatorID" text NOT NULL,
  "Retries" integer DEFAULT '0',
  "Priority" integer DEFAULT '0',
  "Status" varchar(255) NOT NULL DEFAULT 'Reserved',
  "StatusCode" integer NOT NULL DEFAULT '-1',
  CHECK ("Coding" IN ('Default_No_Compression', 'Unicode_No_Compression', '8bit',
                      'Default_Compression', 'Unicode_Compression')),
  CHECK ("DeliveryReport" IN ('default', 'yes', 'no')),
  CHECK ("Status" IN ('SendingOK', 'SendingOKNoReport', 'SendingError',
                      'DeliveryOK', 'DeliveryFailed', 'DeliveryPending',
                      'DeliveryUnknown', 'Error', 'Reserved'))
);
CREATE INDEX outbox_date ON outbox ("SendingDateTime", "SendingTimeOut");
CREATE INDEX outbox_sender ON outbox ("SenderID");
CREATE TRIGGER update_timestamp BEFORE UPDATE ON outbox
  FOR EACH ROW EXECUTE PROCEDURE update_timestamp();

CREATE TABLE outbox_multipart (
  "Text" text,
  "Coding" varchar(255) NOT NULL DEFAULT 'Default_No_Compression',
  "UDH" text,
  "Class" integer DEFAULT '-1',
  "TextDecoded" text DEFAULT NULL,
  "ID" serial,
  "SequencePosition" integer NOT NULL DEFAULT '1',
  "Status" varchar(255) NOT NULL DEFAULT 'Reserved',
  "StatusCode" integer NOT NULL DEFAULT '-1',
  PRIMARY KEY ("ID", "SequencePosition"),
  CHECK ("Coding" IN ('Default_No_Compression', 'Unicode_No_Compression', '8bit',
                      'Default_Compression', 'Unicode_Compression')),
  CHECK ("Status" IN ('SendingOK', 'SendingOKNoReport', 'SendingError',
                      'DeliveryOK', 'DeliveryFailed', 'DeliveryPending',
                      'DeliveryUnknown', 'Error', 'Reserved'))
);

CREATE TABLE phones (
  "ID" text NOT NULL,
  "UpdatedInDB" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "InsertIntoDB" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "TimeOut" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "Send" boolean NOT NULL DEFAULT 'no',
  "Receive" boolean NOT NULL DEFAULT 'no',
  "IMEI" varchar(35) PRIMARY KEY NOT NULL,
  "IMSI" varchar(35) NOT NULL,
  "NetCode" varchar(10) DEFAULT 'ERROR',
  "NetName" varchar(35) DEFAULT 'ERROR',
  "Client" text NOT NULL,
  "Battery" integer NOT NULL DEFAULT -1,
  "Signal" integer NOT NULL DEFAULT -1,
  "Sent" integer NOT NULL DEFAULT 0,
  "Received" integer NOT NULL DEFAULT 0
);
CREATE TRIGGER update_timestamp BEFORE UPDATE ON phones
  FOR EACH ROW EXECUTE PROCEDURE update_timestamp();

CREATE TABLE sentitems (
  "UpdatedInDB" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "InsertIntoDB" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "SendingDateTime" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "DeliveryDateTime" timestamp(0) WITHOUT time zone NULL,
  "Text" text NOT NULL,
  "DestinationNumber" varchar(20) NOT NULL DEFAULT '',
  "Coding" varchar(255) NOT NULL DEFAULT 'Default_No_Compression',
  "UDH" text NOT NULL,
  "SMSCNumber" varchar(20) NOT NULL DEFAULT '',
  "Class" integer NOT NULL DEFAULT '-1',
  "TextDecoded" text NOT NULL DEFAULT '',
  "ID" serial,
  "SenderID" varchar(255) NOT NULL,
  "SequencePosition" integer NOT NULL DEFAULT '1',
  "Status" varchar(255) NOT NULL DEFAULT 'SendingOK',
  "StatusError" integer NOT NULL DEFAULT '-1',
  "TPMR" integer NOT NULL DEFAULT '-1',
  "RelativeValidity" integer NOT NULL DEFAULT '-1',
  "CreatorID" text NOT NULL,
  "StatusCode" integer NOT NULL DEFAULT '-1',
  CHECK ("Status" IN ('SendingOK', 'SendingOKNoReport', 'SendingError',
                      'DeliveryOK', 'DeliveryFailed', 'DeliveryPending',
                      'DeliveryUnknown', 'Error')),
  CHECK ("Coding" IN ('Default_No_Compression', 'Unicode_No_Compression', '8bit',
                      'Default_Compression', 'Unicode_Compression')),
  PRIMARY KEY ("ID", "SequencePosition")
);
CREATE INDEX sentitems_date ON sentitems ("DeliveryDateTime");
CREATE INDEX sentitems_tpmr ON sentitems ("TPMR");
CREATE INDEX sentitems_dest ON sentitems ("DestinationNumber");
CREATE INDEX sentitems_sender ON sentitems ("SenderID");
CREATE TRIGGER update_timestamp BEFORE UPDATE ON sentitems
  FOR EACH ROW EXECUTE PROCEDURE update_timestamp();
