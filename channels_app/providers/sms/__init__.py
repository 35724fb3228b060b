"""SMS and MMS through Twilio's Messages resource and its signed callbacks."""
