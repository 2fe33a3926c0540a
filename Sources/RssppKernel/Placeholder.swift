import RssppCore
