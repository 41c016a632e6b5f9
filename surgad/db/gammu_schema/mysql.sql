-- gammu-smsd SQL schema version 17 for MariaDB and MySQL, as gammu-smsd 1.42
-- (driver native_mysql) reads and writes it. Column names, types and defaults
-- must stay as they are: gammu-smsd checks gammu.Version and relies on the
-- defaults. TIMESTAMP columns are shown in the session's time zone, which is
-- the server's own unless a client sets another.
--
-- Two deliberate differences from the MyISAM tables gammu's example creates:
-- every table is InnoDB, because surgad writes an outbox row and its parts in
-- one transaction and claims inbox rows with FOR UPDATE SKIP LOCKED, which
-- MyISAM cannot do; and every table is utf8mb4, so an emoji survives
-- (gammu-smsd asks for utf8mb4 on connecting). gammu-smsd works unchanged on
-- both.

CREATE TABLE gammu (
  Version integer NOT NULL DEFAULT '0' PRIMARY KEY
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO gammu (Version) VALUES (17);

CREATE TABLE inbox (
  UpdatedInDB timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  ReceivingDateTime timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  Text text NOT NULL,
  SenderNumber varchar(20) NOT NULL DEFAULT '',
  Coding enum('Default_No_Compression', 'Unicode_No_Compression', '8bit',
              'Default_Compression', 'Unicode_Compression')
         NOT NULL DEFAULT 'Default_No_Compression',
  UDH text NOT NULL,
  SMSCNumber varchar(20) NOT NULL DEFAULT '',
  Class integer NOT NULL DEFAULT '-1',
  TextDecoded text NOT NULL,
  ID integer unsigned NOT NULL AUTO_INCREMENT,
  RecipientID text NOT NULL,
  Processed enum('false', 'true') NOT NULL DEFAULT 'false',
  Status integer NOT NULL DEFAULT '-1',
  PRIMARY KEY (ID)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE outbox (
  UpdatedInDB timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  InsertIntoDB timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  SendingDateTime timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  SendBefore time NOT NULL DEFAULT '23:59:59',
  SendAfter time NOT NULL DEFAULT '00:00:00',
  Text text,
  DestinationNumber varchar(20) NOT NULL DEFAULT '',
  Coding enum('Default_No_Compression', 'Unicode_No_Compression', '8bit',
              'Default_Compression', 'Unicode_Compression')
         NOT NULL DEFAULT 'Default_No_Compression',
  UDH text,
  Class integer DEFAULT '-1',
  TextDecoded text NOT NULL,
  ID integer unsigned NOT NULL AUTO_INCREMENT,
  MultiPart enum('false', 'true') DEFAULT 'false',
  RelativeValidity integer DEFAULT '-1',
  SenderID varchar(255),
  SendingTimeOut timestamp NULL DEFAULT CURRENT_TIMESTAMP,
  DeliveryReport enum('default', 'yes', 'no') DEFAULT 'default',
  CreatorID text NOT NULL,
  Retries int(3) DEFAULT 0,
  Priority integer DEFAULT 0,
  Status enum('SendingOK', 'SendingOKNoReport', 'SendingError', 'DeliveryOK',
              'DeliveryFailed', 'DeliveryPending', 'DeliveryUnknown', 'Error',
              'Reserved') NOT NULL DEFAULT 'Reserved',
  StatusCode integer NOT NULL DEFAULT '-1',
  PRIMARY KEY (ID)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX outbox_date ON outbox (SendingDateTime, SendingTimeOut);
CREATE INDEX outbox_sender ON outbox (SenderID(250));

CREATE TABLE outbox_multipart (
  Text text,
  Coding enum('Default_No_Compression', 'Unicode_No_Compression', '8bit',
              'Default_Compression', 'Unicode_Compression')
         NOT NULL DEFAULT 'Default_No_Compression',
  UDH text,
  Class integer DEFAULT '-1',
  TextDecoded text,
  ID integer unsigned NOT NULL DEFAULT '0',
  SequencePosition integer NOT NULL DEFAULT '1',
  Status enum('SendingOK', 'SendingOKNoReport', 'SendingError', 'DeliveryOK',
              'DeliveryFailed', 'DeliveryPending', 'DeliveryUnknown', 'Error',
              'Reserved') NOT NULL DEFAULT 'Reserved',
  StatusCode integer NOT NULL DEFAULT '-1',
  PRIMARY KEY (ID, SequencePosition)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE phones (
  ID text NOT NULL,
  UpdatedInDB timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  InsertIntoDB timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  TimeOut timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  Send enum('yes', 'no') NOT NULL DEFAULT 'no',
  Receive enum('yes', 'no') NOT NULL DEFAULT 'no',
  IMEI varchar(35) NOT NULL,
  IMSI varchar(35) NOT NULL,
  NetCode varchar(10) DEFAULT 'ERROR',
  NetName varchar(35) DEFAULT 'ERROR',
  Client text NOT NULL,
  Battery integer NOT NULL DEFAULT -1,
  `Signal` integer NOT NULL DEFAULT -1,
  Sent int NOT NULL DEFAULT 0,
  Received int NOT NULL DEFAULT 0,
  PRIMARY KEY (IMEI)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE sentitems (
  UpdatedInDB timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  InsertIntoDB timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  SendingDateTime timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  DeliveryDateTime timestamp NULL,
  Text text NOT NULL,
  DestinationNumber varchar(20) NOT NULL DEFAULT '',
  Coding enum('Default_No_Compression', 'Unicode_No_Compression', '8bit',
              'Default_Compression', 'Unicode_Compression')
         NOT NULL DEFAULT 'Default_No_Compression',
  UDH text NOT NULL,
  SMSCNumber varchar(20) NOT NULL DEFAULT '',
  Class integer NOT NULL DEFAULT '-1',
  TextDecoded text NOT NULL,
  ID integer unsigned NOT NULL DEFAULT '0',
  SenderID varchar(255) NOT NULL,
  SequencePosition integer NOT NULL DEFAULT '1',
  Status enum('SendingOK', 'SendingOKNoReport', 'SendingError', 'DeliveryOK',
              'DeliveryFailed', 'DeliveryPending', 'DeliveryUnknown', 'Error')
         NOT NULL DEFAULT 'SendingOK',
  StatusError integer NOT NULL DEFAULT '-1',
  TPMR integer NOT NULL DEFAULT '-1',
  RelativeValidity integer NOT NULL DEFAULT '-1',
  CreatorID text NOT NULL,
  StatusCode integer NOT NULL DEFAULT '-1',
  PRIMARY KEY (ID, SequencePosition)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX sentitems_date ON sentitems (DeliveryDateTime);
CREATE INDEX sentitems_tpmr ON sentitems (TPMR);
CREATE INDEX sentitems_dest ON sentitems (DestinationNumber);
CREATE INDEX sentitems_sender ON sentitems (SenderID(250));
