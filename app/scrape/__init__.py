"""The scrape kind's parts: address guard, guarded client, pacing, robots.txt, page reading."""
